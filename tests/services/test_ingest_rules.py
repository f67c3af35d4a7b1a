"""Central's per-POST rules (odk-protocol.md section 5) as a table over classify_incoming."""

from __future__ import annotations

import pytest

from server.errors import (
    AlreadyExists,
    DeprecatingOldSubmission,
    SubmissionDeleted,
    UpdateTargetNotFound,
    XmlConflict,
)
from server.services.ingest import Action, VersionFacts, classify_incoming

SAME, OTHER = "a" * 64, "b" * 64
CURRENT = VersionFacts(SAME, current=True, deleted=False)
CURRENT_OTHER_XML = VersionFacts(OTHER, current=True, deleted=False)
SUPERSEDED = VersionFacts(SAME, current=False, deleted=False)
DELETED = VersionFacts(SAME, current=True, deleted=True)


@pytest.mark.parametrize(
    ("deprecated_id", "existing", "deprecated", "action", "problem"),
    [
        (None, None, None, Action.NEW, None),
        (None, CURRENT, None, Action.ADD_ATTACHMENTS, None),
        (None, CURRENT_OTHER_XML, None, Action.CONFLICT, XmlConflict),
        (None, SUPERSEDED, None, Action.CONFLICT, DeprecatingOldSubmission),
        (None, DELETED, None, Action.CONFLICT, SubmissionDeleted),
        ("uuid:old", None, CURRENT, Action.EDIT, None),
        ("uuid:old", None, None, Action.CONFLICT, UpdateTargetNotFound),
        ("uuid:old", None, SUPERSEDED, Action.CONFLICT, DeprecatingOldSubmission),
        ("uuid:old", None, DELETED, Action.CONFLICT, SubmissionDeleted),
        ("uuid:old", CURRENT, SUPERSEDED, Action.ADD_ATTACHMENTS, None),  # resent edit
        ("uuid:old", CURRENT_OTHER_XML, CURRENT, Action.CONFLICT, AlreadyExists),
        ("uuid:old", CURRENT_OTHER_XML, SUPERSEDED, Action.CONFLICT, XmlConflict),
    ],
)
def test_classify_incoming_follows_centrals_rules(
    deprecated_id, existing, deprecated, action, problem
):
    decision = classify_incoming(SAME, "uuid:new", deprecated_id, existing, deprecated)
    assert decision.action is action
    if problem is None:
        assert decision.problem is None
    else:
        assert type(decision.problem) is problem
        assert decision.problem.status in (404, 409)


def test_out_of_date_edit_names_the_copy_that_was_edited():
    decision = classify_incoming(SAME, "uuid:new", "uuid:old", None, SUPERSEDED)
    assert "uuid:old" in decision.problem.message
