"""The signed-in patient's own account: changing the e-mail address of their login (issue 14 item 6).

The change needs their current password, then a link sent to the new address; the address changes when the
link is opened (signed in as the same patient), and the old address is told."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from recovery import access
from recovery.forms.account import EmailChangeForm
from recovery.services.audit import AuditContext, record_event
from recovery.services.login_email import confirm_email_change, read_email_change, request_email_change


@login_required
def my_email(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    form = EmailChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            sent_to = request_email_change(
                context=AuditContext.from_request(request),
                patient=patient,
                new_email=form.cleaned_data["new_email"],
                password=form.cleaned_data["password"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("We sent a link to %(address)s. Your address changes when you open it from that mailbox.")
                % {"address": sent_to},
            )
            return redirect("recovery:my-email")
    record_event(context=AuditContext.from_request(request), action="account.view", patient=patient)
    return render(request, "recovery/my_email.html", {"form": form, "current": request.user.email})


@login_required
def my_email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the address the link confirms; POST moves the login to it."""
    patient = access.own_patient(request.user)
    context = AuditContext.from_request(request)
    error, new_email = "", ""
    try:
        if request.method == "POST":
            new_email = confirm_email_change(context=context, patient=patient, token=token)
            messages.success(
                request, _("Your login now uses %(address)s. We told your old address.") % {"address": new_email}
            )
            return redirect("recovery:my-email")
        new_email = read_email_change(user=request.user, token=token)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    record_event(context=context, action="account.view", patient=patient)
    values = {"error": error, "new_email": new_email, "current": request.user.email}
    return render(request, "recovery/my_email_confirm.html", values)
