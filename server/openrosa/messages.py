"""What ODK Collect shows a volunteer, in the volunteer's language: Vietnamese, unless the
phone asks for English (Accept-Language; Collect itself sends none). In Vietnamese each
problem code has one plain sentence (translated in server/translations like the web UI's
strings) followed by the code, which the audit log and the supervisor's pages also show. In
English the phone reads ODK Central's own texts, with their specifics (ids, versions)."""

from __future__ import annotations

from flask import request
from flask_babel import force_locale, lazy_gettext

from server.errors import Problem

LANGUAGES = ("vi", "en")

_NOT_COLLECTS_ID = lazy_gettext(
    "The record's ID is not one ODK Collect makes, so it was not accepted. Tell your "
    "program's technical staff."
)
#: Central's problem codes (and ours) as Collect users read them; "code field" where Central's
#: problem names the field (unexpectedValue) and the sentence depends on it.
MESSAGES = {
    "400.2": lazy_gettext(
        "The form sent could not be read (damaged or incomplete). Tell your program's "
        "technical staff."
    ),
    "400.6": lazy_gettext("The app must send the header X-OpenRosa-Version: 1.0."),
    "400.7": lazy_gettext("The upload has no xml_submission_file part."),
    "400.8": lazy_gettext("This form does not belong to the draft being tested."),
    "400.8 instanceID": _NOT_COLLECTS_ID,
    "400.8 deprecatedID": _NOT_COLLECTS_ID,
    "400.39": lazy_gettext("What the phone sent could not be read. Send it again."),
    "401.2": lazy_gettext("Log in, or check the user name and password."),
    "401.3": lazy_gettext("A password may be sent only over HTTPS."),
    "403.1": lazy_gettext(
        "This phone may not do this: its QR code may have been revoked, or the form is not "
        "given to it. Ask your supervisor."
    ),
    "404.1": lazy_gettext(
        "The server does not have this form or file. Get blank forms again, then retry."
    ),
    "404.6": lazy_gettext(
        "The server does not have the form version this record was filled in. Get blank forms "
        "again and ask your supervisor."
    ),
    "409.1": lazy_gettext(
        "The server already has a record with this ID but different answers, so this one was "
        "not accepted. Tell your supervisor."
    ),
    "409.2": lazy_gettext(
        "This form is not accepting records now. Please talk to your program staff."
    ),
    "409.9": lazy_gettext(
        "You edited an old copy of this record; the server has a newer one. Get the latest "
        "copy and edit it again."
    ),
    "409.18": lazy_gettext("This record was deleted on the server and cannot be sent again."),
    "413.1": lazy_gettext("What the phone sent is larger than this server accepts."),
    "413.2": lazy_gettext(
        "This record's answers (without its photos and files) are larger than this server "
        "accepts. Tell your program's technical staff."
    ),
    "429.1": lazy_gettext("Too many wrong attempts from this network. Wait, then try again."),
}
GENERIC = lazy_gettext(
    "The server could not do this. The record stays on the phone: send it again later."
)
SUCCESS = lazy_gettext("The record was sent to the server.")


def language() -> str:
    """The phone's language when it names one we speak, Vietnamese otherwise."""
    return request.accept_languages.best_match(LANGUAGES, default="vi") or "vi"


#: Central's text on a stored submission, shown to a phone that asks for English.
CENTRAL_SUCCESS = "full submission upload was successful!"


def for_problem(problem: Problem) -> tuple[str, str]:
    """(message, language) of ``problem`` for the phone."""
    lang = language()
    if lang == "en":
        return problem.message, lang
    with force_locale(lang):
        specific = MESSAGES.get(f"{problem.code} {problem.details.get('field')}")
        text = str(specific or MESSAGES.get(problem.code, GENERIC))
    return f"{text} ({problem.code})", lang


def success() -> tuple[str, str]:
    lang = language()
    if lang == "en":
        return CENTRAL_SUCCESS, lang
    with force_locale(lang):
        return str(SUCCESS), lang
