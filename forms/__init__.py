"""Forms: XLSForm -> XForm, reading XForms and submission instances. No Flask, no database."""

from forms.compile import MAX_FORM_BYTES, CompiledForm, compile_xlsform
from forms.errors import FormError, InstanceError, XmlError
from forms.instance import InstanceEnvelope, read_instance
from forms.xform import Field, FormSchema, read_xform

__all__ = [
    "MAX_FORM_BYTES",
    "CompiledForm",
    "Field",
    "FormError",
    "FormSchema",
    "InstanceEnvelope",
    "InstanceError",
    "XmlError",
    "compile_xlsform",
    "read_instance",
    "read_xform",
]
