"""Each transplanted patient's revaccination plan as stored rows, so that the coordinators' worklist of doses due
is a query over an index rather than every plan computed again (issue 15).

Written only by `recovery.services.vaccination_plans`, from the pure rule
`recovery.clinical.vaccination.open_doses` (the output of `vaccination_plan`): the rows hold no decision of their
own, and the patient's pages still compute the plan live. The doses given stay in `VaccinationDose`.
"""

from django.db import models


class VaccinationPlanState(models.Model):
    """What a patient's stored plan was computed from (Day 0, the centre's configuration version) and when. A plan
    computed from another Day 0 or version, or while `Patient.vaccinations_stale_since` is set, is not read: the
    worklist computes that patient live. `done`: every scheduled dose is given, nothing is left to plan."""

    patient = models.OneToOneField("recovery.Patient", on_delete=models.CASCADE, related_name="vaccination_plan")
    day0 = models.DateField()
    config_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    done = models.BooleanField(default=False, help_text="Every scheduled dose is given.")
    # A summary of the stored doses (`PlannedVaccination`), so that the list of doses due reads one row a patient:
    # the patient is listed from `first_due` on (the earliest due date) and overdue from `first_overdue` on (the
    # first day one of the doses is overdue). NULL: no open dose.
    first_due = models.DateField(null=True, blank=True, help_text="The earliest due date of the open doses.")
    first_overdue = models.DateField(null=True, blank=True, help_text="The first day an open dose is overdue.")

    class Meta:
        verbose_name = "stored vaccination plan"

    def __str__(self) -> str:
        return f"Vaccination plan of patient {self.patient_id} from Day 0 {self.day0}"


class PlannedVaccination(models.Model):
    """A dose not yet given whose previous dose is given (or that follows none): its status is a function of the
    date alone, `upcoming` before `due_date`, `due` through `due_until`, `overdue` after. The doses that wait
    for a dose not given yet are not stored: they are `upcoming` whatever the date (see `open_doses`)."""

    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="planned_vaccinations")
    # the patient's centre, copied so that a centre's worklist is one index range (a patient never changes centre)
    centre = models.ForeignKey("accounts.Centre", on_delete=models.CASCADE, related_name="+")
    vaccine = models.CharField(max_length=32)
    dose = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    due_until = models.DateField(help_text="The last day the dose is due; overdue after it.")

    class Meta:
        ordering = ["due_date", "vaccine", "dose"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "vaccine", "dose"], name="planned_vaccination_unique_dose")
        ]
        indexes = [models.Index(fields=["centre", "due_date"], name="planned_vaccination_due_idx")]

    def __str__(self) -> str:
        return f"{self.vaccine} dose {self.dose} due {self.due_date}"
