"""Roles, verbs and the one check every route calls. Pure.

A role is held site-wide, in a project, or in some wards of a project (``ward_scope``); an app
user also reaches only the forms assigned to it (``Principal.forms``). Writes follow the same
scope (``require_wards`` for a record's wards, ``reaches_phone`` for an app user's), and a few
verbs are never granted by a ward-scoped role (``PROJECT_WIDE_VERBS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from server.errors import InsufficientRights

ROLE_VERBS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "manager": frozenset(
        {
            "project.read",
            "project.update",  # rename, describe, archive (Central's project manager)
            "project.delete",
            "form.read",
            "form.update",
            "form.create",
            "submission.read",
            "submission.read_special",  # special-category answers in exports
            "submission.create",
            "submission.update",
            "app_user.create",
            "app_user.revoke",
            "app_user.list",
            "app_user.activity",
            "submission.delete",
            "draft.read",
            "draft.submit",
            "entity.read",
            "entity.update",
            "indicator.read",
            "indicator.records",
            "target.update",
            "duplicate.review",
        }
    ),
    "supervisor": frozenset(
        {
            "project.read",
            "form.read",
            "submission.read",
            "submission.read_special",  # special-category answers in exports
            "submission.update",
            "entity.read",
            "indicator.read",
            "indicator.records",
            "target.update",
            "app_user.activity",  # the phones' places and activity, read-only
            "duplicate.review",
        }
    ),
    # A viewer reads the indicators with small cells suppressed ("< 5", domain.md 6.3 rule 6)
    # and not the records behind them (indicator.records), whose lists would undo it.
    "viewer": frozenset(
        {"project.read", "form.read", "submission.read", "entity.read", "indicator.read"}
    ),
    # Central's app-user role: published forms and submitting, no draft access (a draft is
    # tried through its own test token, "draft_tester" below).
    "collector": frozenset({"project.read", "form.read", "submission.create"}),
    # A draft's test token: only that form's draft (Principal.draft_form), nothing else.
    "draft_tester": frozenset({"draft.read", "draft.submit"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: an actor id, its kind, and its roles (role, project_id|None)."""

    actor_id: int | None
    kind: str  # "anonymous" | "user" | "field_key" | "system"
    display_name: str = ""
    roles: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)
    draft_form: str | None = None  # the one form a draft test token reaches
    #: Roles held only for some wards of a project: (role, project_id, ward code).
    ward_roles: frozenset[tuple[str, int, str]] = field(default_factory=frozenset)
    #: An app user's forms (xmlFormIds): None means every form of its project.
    forms: frozenset[str] | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Principal(None, "anonymous")
#: The command line acts as this: site-wide administrator, recorded in audits as no actor.
SYSTEM = Principal(None, "system", "command line", frozenset({("admin", None)}))


#: Verbs that only a role held for the whole project (or site-wide) grants: a form and its
#: state reach every ward's phones and records at once, so a ward-scoped role cannot hold them.
PROJECT_WIDE_VERBS = frozenset({"form.create", "form.update", "project.update", "project.delete"})


def _grants(role: str, verb: str) -> bool:
    verbs = ROLE_VERBS.get(role, frozenset())
    return "*" in verbs or verb in verbs


def _grants_in_wards(role: str, verb: str) -> bool:
    return verb not in PROJECT_WIDE_VERBS and _grants(role, verb)


def can(principal: Principal, verb: str, project_id: int | None = None) -> bool:
    """True if one of the principal's roles grants ``verb`` site-wide or in ``project_id``
    (a role held for some wards counts here; ``ward_scope`` then narrows the records)."""
    for role, scope in principal.roles:
        if scope is not None and scope != project_id:
            continue
        if _grants(role, verb):
            return True
    return any(
        project == project_id and _grants_in_wards(role, verb)
        for role, project, _ in principal.ward_roles
    )


def ward_scope(principal: Principal, verb: str, project_id: int | None) -> frozenset[str] | None:
    """The wards whose records ``verb`` reaches in the project: None means every ward (and
    records with no ward); a set means only those wards (empty: none)."""
    for role, scope in principal.roles:
        if (scope is None or scope == project_id) and _grants(role, verb):
            return None
    return frozenset(
        ward
        for role, project, ward in principal.ward_roles
        if project == project_id and _grants_in_wards(role, verb)
    )


def holds_wards(
    principal: Principal, verb: str, project_id: int | None, wards: Iterable[str | None]
) -> bool:
    """True when ``verb`` reaches every one of ``wards`` in the project. A record with no
    ward (None) is reached only by a project-wide role. The one rule for every write that
    names a ward: a submission's (before and after an edit), an entity's, a phone's."""
    scope = ward_scope(principal, verb, project_id)
    return scope is None or all(ward is not None and ward in scope for ward in wards)


def require_wards(
    principal: Principal,
    verb: str,
    project_id: int | None,
    wards: Iterable[str | None],
    message: str = "This would write into a commune/ward outside your own.",
) -> None:
    """Raise InsufficientRights unless the principal may ``verb`` in each of ``wards``."""
    if not can(principal, verb, project_id) or not holds_wards(principal, verb, project_id, wards):
        raise InsufficientRights(message)


def reaches_phone(
    principal: Principal,
    verb: str,
    project_id: int | None,
    wards: Iterable[str],
    sites: Iterable[str],
) -> bool:
    """True when the principal may ``verb`` (create, re-issue, revoke, re-assign) a phone
    that receives the clients of ``wards`` and the referrals sent to ``sites``. A project-wide
    role reaches every phone; a ward-scoped role only a phone with at least one ward, all of
    them its own, and no site (a facility receives referrals from every ward)."""
    if not can(principal, verb, project_id):
        return False
    scope = ward_scope(principal, verb, project_id)
    if scope is None:
        return True
    wards = set(wards)
    return bool(wards) and wards <= scope and not set(sites)


def require(
    principal: Principal, verb: str, project_id: int | None = None, xml_form_id: str | None = None
) -> None:
    """Raise InsufficientRights unless ``can`` (and, for a draft token, it is that form; for an
    app user, a form assigned to it)."""
    if not can(principal, verb, project_id):
        raise InsufficientRights()
    if principal.draft_form is not None and principal.draft_form != xml_form_id:
        raise InsufficientRights()
    if xml_form_id is not None and not reaches_form(principal, xml_form_id):
        raise InsufficientRights()


def require_may_end_session(principal: Principal, owner_actor_id: int | None) -> None:
    """Central's session.end: one's own session, or anyone's for a site-wide user.update
    (an administrator). An unknown token is refused the same way (403.1, no leak)."""
    if owner_actor_id is None or principal.actor_id is None:
        raise InsufficientRights()
    if owner_actor_id != principal.actor_id and not can(principal, "user.update", None):
        raise InsufficientRights()


#: The roles that see every number of the indicators; anyone else sees a count of fewer than
#: five people as "< 5" (domain.md 6.3 rule 6).
UNSUPPRESSED_ROLES = frozenset({"admin", "manager", "supervisor"})


def sees_small_numbers(
    principal: Principal, project_id: int, wards: Iterable[str] | None = None
) -> bool:
    """True when every number of figures covering ``wards`` (None: the whole project) is the
    principal's to see: a manager's or supervisor's role (or an administrator's) held for the
    whole project or site-wide, or held for each of those wards. A supervisor of one ward who
    is also a project-wide viewer sees the project's figures suppressed, and only that ward's
    in full."""
    if any(
        role in UNSUPPRESSED_ROLES and (scope is None or scope == project_id)
        for role, scope in principal.roles
    ):
        return True
    if wards is None:
        return False
    mine = {
        ward
        for role, project, ward in principal.ward_roles
        if role in UNSUPPRESSED_ROLES and project == project_id
    }
    wards = set(wards)
    return bool(wards) and wards <= mine


def reaches_form(principal: Principal, xml_form_id: str) -> bool:
    """False only for an app user to whom this form is not assigned."""
    return principal.forms is None or xml_form_id in principal.forms


# --- Plan targets (domain decision 6) -------------------------------------------------------


def may_set_target(
    principal: Principal, project_id: int, scope_kind: str, scope_value: str
) -> bool:
    """The one rule for writing a plan target: ``target.update`` in the project; a role held
    for the whole project (or site-wide) writes any scope (the project, a province, a ward, a
    model); a role held for some wards writes only the targets of a ward of its own (a
    province's or a model's plan reaches other wards' figures)."""
    if not can(principal, "target.update", project_id):
        return False
    wards = ward_scope(principal, "target.update", project_id)
    return wards is None or (scope_kind == "ward" and scope_value in wards)


def sees_target(principal: Principal, project_id: int, scope_kind: str, scope_value: str) -> bool:
    """Reading the plan needs ``indicator.read``; a caller limited to some wards sees their
    ward targets and every target that names no ward (the project's, a province's, a
    model's: numbers planned, not records of people), never another ward's."""
    if not can(principal, "indicator.read", project_id):
        return False
    wards = ward_scope(principal, "indicator.read", project_id)
    return wards is None or scope_kind != "ward" or scope_value in wards


# --- Suspected duplicate clients ----------------------------------------------------------


def require_may_decide_duplicates(
    principal: Principal, project_id: int, wards: Iterable[str | None]
) -> None:
    """The one rule for deciding (and undoing) whether two clients are one person: a
    supervisor's or manager's ``duplicate.review`` in the project, held for the wards of
    both clients (a merge changes both wards' lists and phones)."""
    require_wards(
        principal,
        "duplicate.review",
        project_id,
        wards,
        "Deciding on these two clients needs a supervisor or manager of both their wards.",
    )
