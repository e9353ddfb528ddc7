"""Typed service errors and the handlers that turn every error into a calm answer.

Services raise these; views never build error responses by hand. Under /api/ the
answer is JSON in the error shape of the OpenAPI document (/api/v1/openapi.json);
elsewhere it is a short page.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from matching.extensions import db


class ServiceError(Exception):
    """A refusal a person can act on; its code defaults to the one of its status."""

    status = 400

    def __init__(self, message: str, *, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.code = code or HTTP_CODES[self.status][0]


class Malformed(ServiceError):
    """The request cannot be read (400)."""


class Unauthenticated(ServiceError):
    """No one, or no valid token (401)."""

    status = 401


class NotAllowed(ServiceError):
    """This person may not do that (403)."""

    status = 403


class NotFound(ServiceError):
    """No such thing, or not this person's (404)."""

    status = 404


class Conflict(ServiceError):
    """It clashes with the current state (409)."""

    status = 409


class Gone(ServiceError):
    """It existed but has expired (410)."""

    status = 410


class Invalid(ServiceError):
    """Readable, but some values are wrong (422)."""

    status = 422


class TooManyAttempts(ServiceError):
    status = 429
    code = "too_many_requests"


HTTP_CODES = {
    400: ("malformed", "The request could not be read."),
    401: ("unauthenticated", "Please sign in or send a valid token."),
    403: ("not_allowed", "You are not allowed to do that."),
    404: ("not_found", "Nothing here."),
    405: ("method_not_allowed", "That method is not allowed here."),
    409: ("conflict", "That conflicts with the current state."),
    410: ("expired", "That has expired."),
    413: ("too_large", "The request is too large."),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json."),
    422: ("invalid", "Some values are not valid."),
    429: ("too_many_requests", "Too many attempts. Please wait a little and try again."),
    500: ("server_error", "Something went wrong on our side. Nothing was changed."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    """One error answer: JSON under /api/, a short page elsewhere."""
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        response = jsonify(body)
    elif request_ctx.url_adapter is None:
        # The Host header was refused (TRUSTED_HOSTS), so no page can build its links.
        response = make_response(message)
        response.mimetype = "text/plain"
    else:
        response = make_response(render_template("error.html", status=status, message=message))
    response.status_code = status
    return response


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(ServiceError)
    def service_error(err: ServiceError):
        return error_response(err.status, err.code, err.message, err.fields)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        return error_response(
            400, "csrf", "This form has expired. Please go back, reload and try again."
        )

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code, message = HTTP_CODES.get(err.code or 500, ("error", err.description or ""))
        response = error_response(err.code or 500, code, message)
        if err.code == 405 and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        code, message = HTTP_CODES[500]
        return error_response(500, code, message)
