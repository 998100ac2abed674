"""The error format of shared/api.md: 400 {"field": ["message"]}, 401, 403, 404; never a 500 for input."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                ("non_field_errors" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc.detail)]})
    return drf_exception_handler(exc, context)
