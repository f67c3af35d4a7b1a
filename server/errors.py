"""Problems: every error the server reports, with a stable code and an HTTP status.

Codes follow ODK Central's where Central has one (lib/util/problem.js). Our own:
400.91+ request shape, 413.1 body too large, 413.2 submission XML too large, x.91+ for
passwords and one-time codes. On the wire a code is a JSON number, as Central sends it
(409.3, not "409.3"); so no code ends in 0, which as a number would be another code
(409.30 is 409.3), the rule Central's own table keeps.
"""

from __future__ import annotations


class Problem(Exception):
    """An error to show to the caller; each surface renders it in its own language."""

    code = "500.1"
    status = 500
    message = "An internal error occurred."

    def __init__(self, message: str | None = None, **details: object):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


def problem_json(problem: Problem) -> dict[str, object]:
    """The JSON body of a problem, in Central's shape: {message, code, details}."""
    return {"message": problem.message, "code": float(problem.code), "details": problem.details}


class MalformedXml(Problem):
    code, status = "400.2", 400
    message = "The XML could not be read."


class MissingParameter(Problem):
    code, status = "400.2", 400
    message = "A required parameter is missing."


class BadOpenRosaVersion(Problem):
    code, status = "400.6", 400
    message = (
        "An expected header field (X-OpenRosa-Version) did not match the expected format: 1.0."
    )


class MissingMultipartField(Problem):
    code, status = "400.7", 400
    message = "Required multipart POST field xml_submission_file missing."


class FormIdMismatch(Problem):
    code, status = "400.8", 400
    message = "The form id in the submission does not match the form it was sent to."


class UnexpectedValue(Problem):
    """Central's unexpectedValue: a value the server does not accept for a field."""

    code, status = "400.8", 400
    message = "An unexpected value was given."


class InvalidForm(Problem):
    code, status = "400.15", 400
    message = "The form could not be compiled."


class MalformedMultipart(Problem):
    code, status = "400.39", 400
    message = "The multipart body could not be read."


class AuthenticationFailed(Problem):
    code, status = "401.2", 401
    message = "Could not authenticate with the provided credentials."


class TooManyLogins(Problem):
    code, status = "429.1", 429
    message = "Too many failed log-in attempts; wait before trying again."


class HttpsRequired(Problem):
    code, status = "401.3", 401
    message = "This authentication method is only available over HTTPS."


class InsufficientRights(Problem):
    code, status = "403.1", 403
    message = "The authenticated actor does not have rights to perform that action."


class NotFound(Problem):
    code, status = "404.1", 404
    message = "Could not find the resource you were looking for."


class UpdateTargetNotFound(Problem):
    code, status = "404.5", 404
    message = (
        "You tried to update an existing submission, but we can't find that submission to update."
    )


class FormVersionNotFound(Problem):
    code, status = "404.6", 404
    message = "The form version specified in this submission does not exist."


class XmlConflict(Problem):
    code, status = "409.1", 409
    message = (
        "A submission already exists with this ID, but with different XML. Resubmissions "
        "to attach additional multimedia must resubmit an identical xml_submission_file."
    )


class FormNotOpen(Problem):
    code, status = "409.2", 409
    message = "This form is not currently accepting submissions. Please talk to your program staff."


class AlreadyExists(Problem):
    code, status = "409.3", 409
    message = "A resource already exists with those values."


class VersionConflict(Problem):
    code, status = "409.6", 409
    message = "A published form with this id and version already exists."


class DeprecatingOldSubmission(Problem):
    code, status = "409.9", 409
    message = (
        "You tried to update a submission, but the copy you were editing is now out of "
        "date. Please get the latest version that has been submitted, and try again."
    )


class SubmissionDeleted(Problem):
    code, status = "409.18", 409
    message = "This submission has been deleted. You may not resubmit it."


class TooLarge(Problem):
    code, status = "413.1", 413
    message = "The request body is larger than this server accepts."


class SubmissionXmlTooLarge(TooLarge):
    code = "413.2"
    message = "The submission XML is larger than this server accepts."


# --- Passwords and the second factor (auth/passwords.py, services/passwords.py and
# services/second_factor.py raise these) ------------------------------------------------


class WeakPassword(Problem):
    """A password the policy refuses; ``reason`` says why, for the web UI's sentence."""

    code, status = "400.44", 400
    message = "The supplied password is too weak."
    reason = "common"


class PasswordTooShort(WeakPassword):
    code = "400.21"
    message = "The password must have at least 10 characters."
    reason = "short"


class PasswordTooLong(WeakPassword):
    code = "400.38"
    message = "The password must have at most 72 characters."
    reason = "long"


class PasswordNotAscii(WeakPassword):
    code = "400.45"
    message = "Use ASCII characters only: ODK Collect sends Digest credentials as ASCII."
    reason = "ascii"


class CodeRequired(Problem):
    code, status = "401.91", 401
    message = (
        "This account logs in with a one-time code too: send it as 'code' beside the email "
        "and the password (a code from the authenticator app, or a recovery code)."
    )


class ResetLinkInvalid(Problem):
    code, status = "404.91", 404
    message = "This password link is wrong, has expired, or has been used already."


class AlreadyEnrolled(Problem):
    code, status = "409.92", 409
    message = "This account has a one-time code already; turn it off first to set a new one."


class NotEnrolled(Problem):
    code, status = "409.91", 409
    message = "This account has no one-time code."


class CodesLocked(Problem):
    code, status = "429.91", 429
    message = "Too many wrong one-time codes; wait 15 minutes and log in again."
