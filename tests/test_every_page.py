"""Every page, every role: each demo login opens every page its own navigation leads to, and every API GET path.

On the seeded demo (`demo`: 40 synthetic patients spread over every phase, the 174-patient historical cohort,
the three demo logins), each role signs in, starts at "/" (which redirects to the role's home: depth 0) and
follows `<a href>` links, GET only, breadth first, up to three clicks from home, links to other patients
included. Redirects are followed and their target is counted; CSV, .ics and JSON answers are status-checked but
not parsed. Forms are never submitted. Skipped: other hosts, `mailto:`, `tel:`, fragments, `/static/`,
`/admin/` and the sign-out URL. A 5xx is a failure wherever it is linked from. So is every other error status
(403, 404, 405, ...) and a redirect to the sign-in page: every link followed is one the role's own pages show
it, so a link the role cannot use is a broken or forbidden link in its navigation.

The crawl knows no page by name, so a new page reachable from a role's navigation is opened without editing
this module. What keeps it to seconds is which links it does *not* follow:

* a URL is opened once, and of the links to one URL pattern with the same query keys (`?page=2`, `?page=3`,
  `?phase=...`) only the first few, since they differ only in which rows the same template shows;
* a URL pattern with path parameters is opened for a few instances only. For a pattern about a patient
  (a `patient_id` in the path) that is one patient per phase, the phase the patient is in today: every phase
  the role's links reach (evaluation to follow-up) is opened on every patient page, where taking the first
  patients a list shows would test one or two phases many times over and the rest never. The links found on
  one page are considered patients in a phase not yet opened first, so a list of 25 patients yields one per
  phase. Other patterns (an alert, a lab import, ...) get the first few instances found.

The API half takes every path with a GET operation from the OpenAPI schema (drf-spectacular, generated in
process), fills each `{x_id}` with the `id` of the first item the role sees in the list path named after x
(`{patient_id}`: `/api/v1/patients/`), and expects the status `tests/test_access_matrix.py` gives the role for
that URL name: the role's own data (staff: a patient of their centre; the patient: themself) is a 200 on every
path, except for the paths meant for another role (the cohort outcomes for a coordinator, the alert list for a
patient, ...). A path missing from the matrix is a failure here too.
"""

import functools
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import pytest
from django.db import connection
from django.urls import Resolver404, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from recovery.clinical.phases import Phase
from recovery.models import Patient
from recovery.queries.configuration import active_configs
from recovery.queries.timeline import current_state
from tests.test_access_matrix import MATRIX

pytestmark = pytest.mark.slow

ROLES = ("coordinator", "clinician", "patient")
START = "/"
MAX_DEPTH = 3  # clicks from the home page (depth 0)
QUERY_VARIANTS = 3  # URLs opened per URL pattern and set of query keys
OTHER_INSTANCES = 4  # instances opened per URL pattern whose path parameters name no patient
SKIPPED_PREFIXES = ("/static/", "/admin/")
SITE_HOSTS = {"testserver"}
NOT_JSON = {"api:schema", "api:docs"}  # the schema (YAML by default) and its Swagger page

# Floors that a crawl reaching next to nothing cannot pass (the demo reaches more: see the printed counts).
MIN_PATTERNS = {"coordinator": 22, "clinician": 17, "patient": 8}
MUST_REACH = {
    "coordinator": {
        "recovery:patient-list",
        "recovery:patient-detail",
        "recovery:patient-edit",
        "recovery:tasks",
        "recovery:reporting",
        "recovery:phone-reading",
    },
    "clinician": {
        "recovery:dashboard",
        "recovery:patient-detail",
        "recovery:patient-review",
        "recovery:cohort",
        "recovery:reporting",
    },
    "patient": {"recovery:my-recovery", "recovery:checkin", "recovery:my-history", "recovery:my-vaccinations"},
}
MIN_MY_PAGES = 6  # distinct "/my/..." pages the patient opens


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_in(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def _resolve(url: str):
    try:
        return resolve(urlsplit(url).path)
    except Resolver404:
        return None


def same_site(href: str, base: str, skipped: set[str]) -> str | None:
    """The site-relative URL a link on page `base` leads to, or None for a link the crawl does not follow."""
    if href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(urljoin(f"http://testserver{base}", href))
    if parts.scheme not in {"http", "https"} or parts.hostname not in SITE_HOSTS:
        return None
    if parts.path.startswith(SKIPPED_PREFIXES) or parts.path in skipped:
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


def phases_of_patients() -> dict[str, str]:
    """Every patient's phase today, by the patient's public id as it appears in URLs."""
    patients = list(Patient.objects.select_related("episode"))
    configs = active_configs({patient.centre_id for patient in patients})
    return {str(patient.uuid): str(current_state(patient, configs[patient.centre_id]).phase) for patient in patients}


class Admission:
    """Which of the links found are opened: the dedupe and the caps of the module docstring."""

    def __init__(self, phase_of: dict[str, str]):
        self.phase_of = phase_of
        self.variants: dict[tuple, set[str]] = defaultdict(set)  # (pattern, query keys) -> URLs admitted
        self.instances: dict[str, dict[tuple, str]] = defaultdict(dict)  # pattern -> {path parameters: phase}

    def phase(self, match) -> str:
        """The phase of the patient a URL is about ("" when it is about no patient)."""
        return self.phase_of.get(str(match.kwargs.get("patient_id")), "") if match else ""

    def is_new_phase(self, url: str) -> bool:
        match = _resolve(url)
        phase = self.phase(match)
        return bool(phase) and phase not in self.instances[match.view_name].values()

    def admit_from_page(self, urls: list[str]) -> list[str]:
        """The links of one page that are opened, patients in a phase not opened yet considered first."""
        ordered = sorted(urls, key=lambda url: not self.is_new_phase(url))  # stable: page order otherwise
        return [url for url in ordered if self.admit(url)]

    def admit(self, url: str) -> bool:
        match = _resolve(url)
        parts = urlsplit(url)
        variant = (match.view_name if match else parts.path, tuple(sorted({key for key, _ in parse_qsl(parts.query)})))
        if variant[1] and len(self.variants[variant]) >= QUERY_VARIANTS:
            return False
        if match is not None and match.kwargs:
            seen = self.instances[match.view_name]
            instance = tuple(sorted((key, str(value)) for key, value in match.kwargs.items()))
            if instance not in seen:
                phase = self.phase(match)
                full = phase in seen.values() if phase else list(seen.values()).count("") >= OTHER_INSTANCES
                if full:
                    return False
                seen[instance] = phase
        if variant[1]:
            self.variants[variant].add(url)
        return True


@dataclass
class Crawl:
    """What one role's crawl opened and what went wrong."""

    statuses: dict[str, int] = field(default_factory=dict)  # URL -> status, in the order opened
    patterns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # URL name -> URLs opened
    phases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # URL name -> phases opened
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.statuses)} pages, {len(self.patterns)} URL patterns"


def crawl(client, phase_of: dict[str, str]) -> Crawl:
    """Breadth first from START to MAX_DEPTH clicks from the home page, as the module docstring says."""
    result = Crawl()
    admission = Admission(phase_of)
    login = reverse("accounts:login")
    skipped = {reverse("accounts:logout")}

    def get(url):
        response = client.get(url)
        result.statuses[url] = response.status_code
        match = _resolve(url)
        if match is not None:
            result.patterns[match.view_name].add(url)
            if admission.phase(match):
                result.phases[match.view_name].add(admission.phase(match))
        return response

    seen = {START}
    queue = deque([(START, 0, "signing in")])
    while queue:
        url, depth, referrer = queue.popleft()
        response = get(url)
        while 300 <= response.status_code < 400:
            target = same_site(response["Location"], url, skipped)
            if target is not None and urlsplit(target).path == login:
                result.failures.append(f"GET {url} (linked from {referrer}): redirects to the sign-in page")
            if target is None or target in seen or urlsplit(target).path == login:
                break
            seen.add(target)
            referrer, url = f"{referrer}, redirected from {url}", target
            response = get(url)
        if response.status_code >= 400:
            result.failures.append(f"GET {url} (linked from {referrer}): {response.status_code}")
            continue
        if depth == MAX_DEPTH or not response.get("Content-Type", "").startswith("text/html"):
            continue
        found = {}  # a dict keeps the page's order
        for href in links_in(response.content.decode(response.charset or "utf-8")):
            target = same_site(href, url, skipped)
            if target is not None and target not in seen:
                found[target] = None
        for target in admission.admit_from_page(list(found)):
            seen.add(target)
            queue.append((target, depth + 1, url))
    return result


@pytest.fixture(scope="module")
def phase_of(demo, django_db_blocker):
    with django_db_blocker.unblock():
        return phases_of_patients()


@pytest.mark.parametrize("role", ROLES)
def test_no_page_a_role_reaches_from_its_home_is_an_error_or_a_broken_link(role, demo, db, client, phase_of):
    """Three clicks from a role's home no page answers 5xx and no link the role is shown is an error (403, 404)."""
    client.force_login(demo[role])

    result = crawl(client, phase_of)

    report = f"{role} on {connection.vendor}: {result.summary()}"
    print(f"\n{report}: {', '.join(sorted(result.patterns))}")  # noqa: T201 (the counts, for a run with -s)
    assert not result.failures, f"{report}; {len(result.failures)} failed:\n" + "\n".join(result.failures)
    assert len(result.patterns) >= MIN_PATTERNS[role], f"{report}, fewer than {MIN_PATTERNS[role]}"
    missing = MUST_REACH[role] - set(result.patterns)
    assert not missing, f"{report}; never reached {sorted(missing)}"
    if role == "patient":
        my_pages = {name for name, urls in result.patterns.items() if any(url.startswith("/my/") for url in urls)}
        assert len(my_pages) >= MIN_MY_PAGES, f"{report}; only these 'my' pages: {sorted(my_pages)}"
    else:
        unseen = {str(phase) for phase in Phase} - result.phases["recovery:patient-detail"]
        assert not unseen, f"{report}; no patient page opened in phases {sorted(unseen)}"


@functools.cache
def api_get_paths() -> tuple[str, ...]:
    """Every path of the OpenAPI schema that has a GET operation, `{parameters}` unfilled."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return tuple(sorted(path for path, operations in schema["paths"].items() if "get" in operations))


def list_path_for(parameter: str, paths: tuple[str, ...]) -> str:
    """The list path named after a path parameter: `patient_id` -> `/api/v1/patients/`."""
    plural = parameter.removesuffix("_id").replace("_", "-") + "s"
    lists = [path for path in paths if "{" not in path and path.rstrip("/").rsplit("/", 1)[-1] == plural]
    assert lists, f"no GET list path ending in /{plural}/ to take a {{{parameter}}} from"
    return lists[0]


def first_id(api: APIClient, list_path: str) -> str:
    response = api.get(list_path)
    assert response.status_code == 200, f"GET {list_path}: {response.status_code}, wanted a list to take an id from"
    body = response.json()
    items = body.get("results", []) if isinstance(body, dict) else body
    assert items, f"GET {list_path}: an empty list, no item to open ({str(body)[:200]})"
    assert "id" in items[0], f"GET {list_path}: its items have no id ({str(items[0])[:200]})"
    return str(items[0]["id"])


@pytest.mark.parametrize("role", ROLES)
def test_every_api_get_path_answers_each_role_as_the_access_matrix_says(role, demo, db):
    """Each GET path of the schema, lists and one item of the role's own data, answers the matrix's status."""
    api = APIClient()
    api.force_authenticate(demo[role])
    paths = api_get_paths()
    ids = {
        parameter: first_id(api, list_path_for(parameter, paths))
        for parameter in sorted({parameter for path in paths for parameter in re.findall(r"\{(\w+)\}", path)})
    }
    wrong, opened = [], []

    for path in paths:
        url = re.sub(r"\{(\w+)\}", lambda parameter: ids[parameter.group(1)], path)
        name = resolve(url).view_name
        if name not in MATRIX:
            wrong.append(f"GET {url} ({name}): not in the access matrix of tests/test_access_matrix.py")
            continue
        expected = MATRIX[name][1][role]
        response = api.get(url)
        opened.append(name)
        if response.status_code != expected:
            wrong.append(f"GET {url} ({name}): {response.status_code}, expected {expected}")
        elif expected == 200 and name not in NOT_JSON and not response["Content-Type"].startswith("application/json"):
            wrong.append(f"GET {url} ({name}): {response['Content-Type']}, expected JSON")

    report = f"{role} on {connection.vendor}: {len(opened)} API GET paths"
    print(f"\n{report}: {', '.join(opened)}")  # noqa: T201 (the counts, for a run with -s)
    assert not wrong, f"{report}; wrong:\n" + "\n".join(wrong)
    assert any("{" in path for path in paths), f"{report}, none of them about one patient or item"
    if role == "patient":
        assert ids["patient_id"] == str(demo["_patient"].uuid), "the patient's own record is the one opened"
