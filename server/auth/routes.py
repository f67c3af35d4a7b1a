"""The one place where every route of the app declares what it needs, checked by each
blueprint right after it has resolved the caller (a route missing here is refused).

Values: a verb of permissions.ROLE_VERBS (checked in the route's project, or site-wide when
the URL names no project), OPEN (anyone), SIGNED_IN (any caller who is logged in), or
LOOPBACK (only from this machine). tests/auth/test_permission_matrix.py walks the URL map,
so that a new route cannot be forgotten, and tries every route with every role and scope.
"""

from __future__ import annotations

from server.auth.permissions import Principal, require
from server.errors import InsufficientRights

OPEN = "open"
SIGNED_IN = "signed-in"
LOOPBACK = "loopback"

PERMISSIONS: dict[str, str] = {
    # --- OpenRosa: what ODK Collect calls ------------------------------------------------
    "openrosa.form_list": "form.read",
    "openrosa.form_xml": "form.read",
    "openrosa.manifest": "form.read",
    "openrosa.form_attachment": "form.read",
    "openrosa.integrity": "form.read",  # entity lists: filtered by the app user's wards
    "openrosa.submission_preflight": "submission.create",
    "openrosa.post_submission": "submission.create",
    "openrosa.draft_form_list": "draft.read",
    "openrosa.draft_xml": "draft.read",
    "openrosa.draft_manifest": "draft.read",
    "openrosa.draft_attachment": "draft.read",
    "openrosa.draft_submission_preflight": "draft.submit",
    "openrosa.post_draft_submission": "draft.submit",
    # --- REST API (Central's shapes) ---------------------------------------------------
    "api.create_session": OPEN,
    "api.end_session": SIGNED_IN,
    "api.end_session_by_token": SIGNED_IN,  # one's own, or an admin: permissions rule
    "api.current_user": SIGNED_IN,
    "api.change_password": SIGNED_IN,  # one's own; another user's needs user.update (service)
    "api.initiate_reset": "user.update",  # no email: the link is answered to the administrator
    "api.list_projects": SIGNED_IN,  # lists only the projects the caller holds a role in
    "api.get_project": "project.read",
    "api.create_project": "project.create",  # site-wide: an administrator
    "api.update_project": "project.update",  # name, description, archived
    "api.delete_project": "project.delete",  # soft: the project then answers 404
    "api.indicators_xlsx": "indicator.read",  # the indicators report as a workbook
    "api.list_app_users": "app_user.list",
    "api.create_app_user": "app_user.create",
    "api.revoke_app_user": "app_user.revoke",
    "api.list_form_assignments": "app_user.list",
    "api.list_form_assignees": "app_user.list",
    "api.change_form_assignment": "app_user.create",
    "api.list_project_form_assignments": "app_user.list",
    "api.list_project_form_assignments_by_role": "app_user.list",
    "api.list_forms": "form.read",
    "api.get_form": "form.read",
    "api.create_form": "form.create",
    "api.update_form": "form.update",
    "api.list_versions": "form.read",
    "api.version_xml": "form.read",
    "api.version_xlsform": "form.read",
    "api.list_attachments": "form.read",
    "api.create_draft": "form.update",
    "api.get_draft": "draft.read",
    "api.delete_draft": "form.update",
    "api.publish_draft": "form.update",
    "api.list_draft_attachments": "draft.read",
    "api.upload_draft_attachment": "form.update",
    "api.list_submissions": "submission.read",
    "api.odata_service": "submission.read",
    "api.odata_metadata": "submission.read",
    "api.odata_table": "submission.read",
    "api.entity_odata_service": "entity.read",
    "api.entity_odata_metadata": "entity.read",
    "api.entity_odata_table": "entity.read",
    "api.create_submission": "submission.create",
    "api.edit_submission": "submission.update",
    "api.upload_submission_attachment": "submission.update",
    "api.get_submission": "submission.read",
    "api.submission_xml": "submission.read",
    "api.list_submission_versions": "submission.read",
    "api.get_submission_version": "submission.read",
    "api.submission_version_xml": "submission.read",
    "api.list_submission_attachments": "submission.read",
    "api.list_comments": "submission.read",
    "api.add_comment": "submission.update",
    "api.review_submission": "submission.update",
    "api.export_submissions": "submission.read",
    "api.export_csv_zip": "submission.read",  # special-category answers: submission.read_special
    "api.export_xlsx": "submission.read",
    "api.export_geojson": "submission.read",
    "api.export_entities_csv": "entity.read",  # the caller's wards only (entity_export)
    "api.export_entities_xlsx": "entity.read",
    "api.delete_submission": "submission.delete",
    "api.restore_submission": "submission.delete",
    "api.erase_client": "data.purge",
    "api.submission_attachment": "submission.read",
    "api.version_attachment": "submission.read",
    "api.list_datasets": "form.read",
    "api.get_dataset": "form.read",
    "api.create_dataset": "form.create",
    "api.add_property": "form.update",
    "api.list_entities": "entity.read",
    "api.get_entity": "entity.read",
    "api.client_history": "entity.read",  # and submission.read (services/clients.py)
    "api.create_entities": "entity.update",
    "api.update_entity": "entity.update",
    "api.delete_entity": "entity.update",
    "api.restore_entity": "entity.update",  # and the entity's ward (services/entity_api)
    "api.entity_versions": "entity.read",  # in the caller's wards
    "api.list_duplicates": "duplicate.review",  # pairs whose two clients are the caller's
    "api.decide_duplicate": "duplicate.review",  # both clients' wards: permissions rule
    "api.list_deliveries": "delivery.read",
    "api.delivery_stats": "delivery.read",
    "api.retry_delivery": "delivery.retry",
    "api.retry_all_dead": "delivery.retry",
    "api.project_indicators": "indicator.read",
    "api.indicator_records": "indicator.records",  # not a viewer's: lists would undo "<5"
    "api.list_audits": "audit.read",
    "api.export_audits": "audit.read",
    "api.list_worklists": "entity.read",  # counts per work list, in the caller's wards
    "api.get_worklist": "entity.read",  # rows name clients: audited (services/worklists)
    "api.list_targets": "indicator.read",  # a ward-scoped caller: its wards' and no ward's
    "api.set_targets": "target.update",  # each row's scope: permissions.may_set_target
    "metrics.metrics": LOOPBACK,
    # --- Web UI ------------------------------------------------------------------------
    "web.static": OPEN,
    "web.vendor": OPEN,
    # Forms in the browser: a shell and its bundle, no data (the data comes from /v1/key/...).
    "web.web_form": OPEN,
    "web.web_form_asset": OPEN,
    "web.web_form_worker": OPEN,
    "web.log_in": OPEN,
    "web.set_language": OPEN,
    "web.log_out": SIGNED_IN,
    "web.log_out_everywhere": SIGNED_IN,
    "web.home": SIGNED_IN,
    "web.enter_code": OPEN,  # a session waiting for its one-time code (checked in the view)
    "web.reset_password": OPEN,  # the one-time link is the credential
    "web.show_account": SIGNED_IN,
    "web.change_password": SIGNED_IN,
    "web.two_factor": SIGNED_IN,
    "web.confirm_two_factor": SIGNED_IN,
    "web.disable_two_factor": SIGNED_IN,
    "web.show_project": "project.read",
    "web.create_project": "project.create",  # an administrator, as in Central
    "web.list_entities": "entity.read",
    "web.resolve_entity_conflict": "entity.update",  # and the entity's ward (entity_api)
    "web.show_client": "entity.read",  # and submission.read (services/clients.py)
    "web.show_referral": "entity.read",
    "web.show_worklists": "entity.read",
    "web.show_worklist": "entity.read",
    "web.list_submissions": "submission.read",
    "web.show_submission": "submission.read",
    "web.submission_attachment": "submission.read",
    "web.review_submission": "submission.update",
    "web.comment_submission": "submission.update",
    "web.retry_delivery": "submission.update",
    "web.export_submissions": "submission.read",
    "web.start_export": "submission.read",  # a job; its file is only its starter's
    "web.show_export": "submission.read",
    "web.export_progress": "submission.read",
    "web.download_export": "submission.read",
    "web.map_submissions": "submission.read",
    "web.delete_submission": "submission.delete",
    "web.list_deleted": "submission.delete",
    "web.restore_submission": "submission.delete",
    "web.upload_form": "form.create",
    "web.show_form": "form.update",
    "web.upload_draft": "form.update",
    "web.publish_draft": "form.update",
    "web.delete_draft": "form.update",
    "web.list_app_users": "app_user.list",
    "web.create_app_user": "app_user.create",
    "web.revoke_app_user": "app_user.revoke",
    "web.set_app_user_forms": "app_user.create",
    "web.list_field_users": "app_user.activity",  # supervisors: read-only
    "web.set_app_user_places": "app_user.create",  # the phone's reach: services/app_users
    "web.reissue_app_user": "app_user.create",
    "web.list_users": "user.update",
    "web.create_user": "user.update",
    "web.assign_role": "user.update",
    "web.remove_roles": "user.update",
    "web.end_user_sessions": "user.update",
    "web.deactivate_user": "user.update",
    "web.create_reset_link": "user.update",
    "web.set_user_digest": "user.update",
    "web.remove_user_two_factor": "user.update",
    "web.list_targets": "indicator.read",
    "web.set_target": "target.update",  # each row's scope: permissions.may_set_target
    "web.remove_target": "target.update",
    "web.list_audits": "audit.read",
    "web.export_audits": "audit.read",
    "web.show_indicators": "indicator.read",
    "web.indicator_records": "indicator.records",
    "web.indicators_xlsx": "indicator.read",
    "web.list_duplicates": "duplicate.review",  # pairs whose two clients are the caller's
    "web.decide_duplicate": "duplicate.review",  # both clients' wards: permissions rule
}


def is_open(endpoint: str | None) -> bool:
    return PERMISSIONS.get(endpoint or "") == OPEN


def enforce(principal: Principal, endpoint: str | None, view_args: dict) -> None:
    """Refuse the request unless ``principal`` holds what ``endpoint`` declares.

    Raises InsufficientRights; an endpoint with no declaration is refused too (fail closed).
    """
    needed = PERMISSIONS.get(endpoint or "")
    if needed is None:
        raise InsufficientRights("This route declares no permission; it is refused.")
    if needed in (OPEN, LOOPBACK):
        return
    if principal.is_anonymous:
        raise InsufficientRights()
    if needed == SIGNED_IN:
        return
    require(principal, needed, view_args.get("project_id"), view_args.get("xml_form_id"))
