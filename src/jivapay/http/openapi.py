"""What the OpenAPI document says about errors and operations that the handlers do not."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Example,
    OAuthFlow,
    OAuthFlows,
    OpenAPIMediaType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.openapi.spec.base import BaseSchemaObject
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from jivapay.domain.money import DecimalFormat
from jivapay.http.enums import Matching, OneOf
from jivapay.http.error_codes import errors_line
from jivapay.http.middleware import body_is_optional

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator


class FieldError(msgspec.Struct):
    # the field at fault — a body field (dotted when nested), a query or path parameter, a header;
    # null when the problem is the request as a whole (no body, not JSON)
    field: str | None
    message: str


class ErrorDetails(msgspec.Struct):
    """Facts about the error, per code (amounts are decimal strings); a 422 always has ``errors``."""

    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET  # every 422: one entry per problem
    field: str | msgspec.UnsetType = msgspec.UNSET  # 422: the first field in ``errors`` (when one is named)


class ErrorDetail(msgspec.Struct):
    code: str  # machine-readable: validation_failed, insufficient_balance, idempotency_conflict…
    message: str
    details: ErrorDetails


class ErrorBody(msgspec.Struct):
    error: ErrorDetail
    request_id: str | None


class DecimalSchemaPlugin(OpenAPISchemaPlugin):
    """A ``str`` marked ``DecimalFormat`` (domain.money.DecimalText, http.enums.DecimalText) is
    written out with its pattern: Litestar reads msgspec's Meta on a Struct's fields, but nothing
    on a dataclass's (the services' views)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return any(isinstance(meta, DecimalFormat) for meta in field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        marker = next(meta for meta in field_definition.metadata if isinstance(meta, DecimalFormat))
        return Schema(type=OpenAPIType.STRING, pattern=marker.pattern, examples=[marker.example])


class TextSchemaPlugin(OpenAPISchemaPlugin):
    """A ``str`` marked ``OneOf`` or ``Matching`` (http/enums.py) is written out with its enum or
    pattern. The marker is the document's alone: the value stays a ``str`` that its handler checks,
    with its own 422 message."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return any(isinstance(meta, OneOf | Matching) for meta in field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        marker = next(meta for meta in field_definition.metadata if isinstance(meta, OneOf | Matching))
        if isinstance(marker, OneOf):
            return Schema(type=OpenAPIType.STRING, enum=list(marker.values))
        return Schema(type=OpenAPIType.STRING, pattern=marker.pattern, examples=[marker.example])


@dataclasses.dataclass
class JSONValue(BaseSchemaObject):
    """An example value written as it is: Litestar drops a dict's null members otherwise, and an
    example without its required nulls does not match its own schema."""

    data: Any

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = copy.deepcopy(self.data)
        return schema


def _error(description: str, code: str, message: str, details: dict[str, Any] | None = None) -> ResponseSpec:
    example = {"error": {"code": code, "message": message, "details": details or {}}, "request_id": "3f2b9c0e1d"}
    return ResponseSpec(
        ErrorBody, description=description, examples=[Example(summary=code, value=example)], generate_examples=False
    )


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: _error(
        "The request could not be read (a body that is not JSON, broken multipart)", "bad_request", "Bad request"
    ),
    401: _error("Missing or invalid credentials", "not_authenticated", "Authentication required"),
    403: _error("The caller may not do this", "permission_denied", "Permission denied"),
    404: _error("No such resource for this caller", "not_found", "Not found"),
    409: _error(
        "Conflicts with the current state (duplicate, illegal status move, insufficient balance, idempotency)",
        "conflict",
        "The request conflicts with the current state",
    ),
    422: _error(
        "The request is not valid: `details.errors` lists every field at fault",
        "validation_failed",
        'amount must be a decimal string like "100.00"',
        {
            "field": "amount",
            "errors": [{"field": "amount", "message": 'amount must be a decimal string like "100.00"'}],
        },
    ),
    429: _error("Too many requests", "rate_limited", "Too many requests; slow down"),
}


def document(handlers: Iterable[Any], descriptions: dict[str, str] | None = None) -> None:
    """Give every handler the error responses, and a description where it has none."""
    descriptions = descriptions or {}
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler):
            continue
        handler.responses = {**ERROR_RESPONSES, **(handler.responses or {})}
        if not handler.description and handler.operation_id in descriptions:
            handler.description = descriptions[str(handler.operation_id)]


ORDER_REFERENCE_EXAMPLE = "ord_4k9x2m7q1w8e5r3t6y0u2i"


@dataclasses.dataclass
class DocumentedOperation(Operation):
    """An operation whose ``{order_id}`` path parameter says what it is: the order's public reference;
    that says ``security: []`` when it is public (not "unsaid"), and whose every other error
    status answers the one error format (``default``)."""

    idempotent: ClassVar[bool] = False  # takes Idempotency-Key (see ``secure``)
    withdrawal_key: ClassVar[bool] = False  # a withdrawal request: takes its own kind of Idempotency-Key
    receipt_upload: ClassVar[bool] = False  # the pay-in confirm: an optional multipart receipt
    request_example: ClassVar[dict[str, Any] | None] = None  # its body's EXAMPLE (see ``request_example``)

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema.setdefault("security", [])
        responses = schema.setdefault("responses", {})
        responses.setdefault(
            "default",
            {
                "description": "Any other error, in the one error format",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            },
        )
        for status, response in responses.items():
            if not isinstance(response, dict) or "$ref" in response:
                continue
            headers = response.setdefault("headers", {})
            headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
            if str(status).startswith("2"):
                for name in RATE_LIMIT_HEADERS:
                    headers[name] = {"$ref": f"#/components/headers/{name}"}
                if self.idempotent:
                    headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
            if str(status) == "429":
                headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        return schema

    def __post_init__(self) -> None:
        if self.idempotent:
            self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY]
        if self.withdrawal_key:
            self.parameters = [*(self.parameters or []), WITHDRAWAL_IDEMPOTENCY_KEY]
        if self.receipt_upload:
            self.request_body = RequestBody(
                required=False,
                description="Optionally the payment receipt: multipart/form-data with the file in `receipt` "
                "(PDF, PNG or JPEG; at most RECEIPT_MAX_BYTES). Without a body, just the confirmation.",
                content={"multipart/form-data": OpenAPIMediaType(schema=_file_form("receipt", required=False))},
            )
        elif isinstance(self.request_body, RequestBody) and "multipart/form-data" in (self.request_body.content or {}):
            self.request_body.content["multipart/form-data"] = OpenAPIMediaType(schema=_file_form("data"))
            self.request_body.description = self.request_body.description or "multipart/form-data: the file in `data`"
        if self.request_example is not None and isinstance(self.request_body, RequestBody):
            for media_type, media in (self.request_body.content or {}).items():
                if media_type != "multipart/form-data":
                    media.examples = {"example": Example(value=JSONValue(self.request_example))}
        for parameter in self.parameters or []:
            if isinstance(parameter, Parameter) and parameter.name == "order_id" and parameter.param_in == "path":
                parameter.description = (
                    "The order's public reference (ord_ + 22 characters), the same for every role; "
                    "anything else is a 404"
                )
                parameter.examples = {"reference": Example(value=ORDER_REFERENCE_EXAMPLE)}


@dataclasses.dataclass
class OptionalBodyOperation(DocumentedOperation):
    """An operation whose JSON body may be left out: every field has a default (see
    ``OptionalBodyMiddleware``), so the document does not call it required."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def _idempotency_key(description: str, example: str) -> Parameter:
    return Parameter(
        name="Idempotency-Key",
        param_in=ParamType.HEADER,
        required=False,
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=128),
        description=description,
        examples={"key": Example(value=example)},
    )


IDEMPOTENCY_KEY = _idempotency_key(
    "Any string of yours, 1-128 printable characters: repeating the request with the same key "
    "answers the first answer byte for byte (`Idempotent-Replayed: true`) and does nothing again; the same "
    "key with another body is `409 idempotency_conflict`. A repeat sent while the first is still running waits "
    "for it and answers its answer (the pay-in confirm with a receipt answers `409 request_in_progress` "
    "instead: its file is stored before the transaction). Keys are kept 24 hours.",
    "order-1001-init",
)
WITHDRAWAL_IDEMPOTENCY_KEY = _idempotency_key(
    "Any string of yours, 1-128 characters (not starting `jivapay:`): a request with a key this "
    "owner has used before for the same network, address and amount answers that withdrawal as it is now "
    "(200) and asks for nothing again; the same key for another withdrawal, or while the first request "
    "with it is still being made, is `409 conflict`. The keys of withdrawals are kept for good.",
    "payout-2026-11-25",
)
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (yours, when you sent a valid X-Request-ID): quote it to support",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per period (RATE_LIMIT_DEFAULT: a bucket of that many, refilled evenly)",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Requests that may be made at once now", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Unix time the bucket is full again", "schema": {"type": "integer"}},
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_IDEMPOTENT = re.compile(r"^/gateway/")
_WITHDRAWAL_REQUEST = re.compile(r"^/(merchant/stores/[^/]+|trader|teamlead)/withdrawals$")


def _variant(operation_class: type[Operation], **attributes: Any) -> type[Operation]:
    return type(f"{''.join(attributes).title()}{operation_class.__name__}", (operation_class,), attributes)


def request_example(handler: HTTPRouteHandler) -> dict[str, Any] | None:
    """The example of the handler's body: its Struct's own ``EXAMPLE`` (a ClassVar, which msgspec
    leaves alone), a request the server accepts. Not inherited: a subclass has fields of its own."""
    data = handler.parsed_fn_signature.parameters.get("data")
    struct = data.annotation if data is not None else None
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return None
    example = vars(struct).get("EXAMPLE")
    return example if isinstance(example, dict) else None


def _file_form(field: str, *, required: bool = True) -> Schema:
    """A multipart form of one file field."""
    return Schema(
        type=OpenAPIType.OBJECT,
        properties={field: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="the file")},
        required=[field] if required else None,
    )


def mark_optional_bodies(handlers: Iterable[Any]) -> None:
    for handler in handlers:
        handler.operation_class = OptionalBodyOperation if body_is_optional(handler) else DocumentedOperation


# --- who may call what: the security schemes and each operation's requirement --------------------

ROLE_LOGINS = ("merchant", "trader", "teamlead", "admin")


def _password_login(role: str) -> SecurityScheme:
    return SecurityScheme(
        type="oauth2",
        description=f"A {role}'s login: POST /{role}/auth/token (form: username, password, and `otp` when 2FA "
        "is on) answers an access token, sent as `Authorization: Bearer <token>` (15 minutes; "
        "POST /auth/refresh renews it).",
        flows=OAuthFlows(password=OAuthFlow(token_url=f"/{role}/auth/token", scopes={})),
    )


SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "storeApiKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="A store's API key (jp_live_…), issued in the merchant cabinet: the gateway's credential.",
    ),
    "orderToken": SecurityScheme(
        type="apiKey",
        name="X-Order-Token",
        security_scheme_in="header",
        description="The `order_token` a pay-in init answers: the customer's browser may read and confirm that "
        "one order with it, for two hours.",
    ),
    **{f"{role}Login": _password_login(role) for role in ROLE_LOGINS},
    "supportBearer": SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="A support agent's access token from POST /support/auth/login (JSON: login, password).",
    ),
}
_NO_SCOPES: list[str] = []
_ANY_USER = [{f"{role}Login": _NO_SCOPES} for role in ROLE_LOGINS] + [{"supportBearer": _NO_SCOPES}]
_PUBLIC = re.compile(r"^/(health|ready|auth/refresh|support/auth/login|(merchant|trader|teamlead|admin)/auth/token)$")
_TOKEN_OR_KEY = re.compile(r"^/gateway/payin/(status|confirm)/")


def security_for(path: str) -> list[dict[str, list[str]]]:
    """The security requirement of the operation at ``path`` (a route template): [] when public."""
    if _PUBLIC.match(path):
        return []
    if _TOKEN_OR_KEY.match(path):
        return [{"storeApiKey": []}, {"orderToken": []}]
    if path.startswith("/gateway/"):
        return [{"storeApiKey": []}]
    for role in ROLE_LOGINS:
        if path.startswith(f"/{role}/"):
            return [{f"{role}Login": []}]
    if path.startswith("/support/"):
        return [{"supportBearer": []}]
    return [{name: [] for name in requirement} for requirement in _ANY_USER]  # /auth/logout, /auth/password


_PUBLIC_ERRORS = (400, 422, 429)


def secure(routes: Iterable[Any]) -> None:
    """Every documented operation states its security (an empty list for the public ones) and the
    errors it can answer, all in the one error format (none of the framework's own left)."""
    for route in routes:
        requirement = security_for(getattr(route, "path", ""))
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                handler.security = requirement or None
                errors = ERROR_RESPONSES if requirement else {k: ERROR_RESPONSES[k] for k in _PUBLIC_ERRORS}
                responses = {**errors, **(handler.responses or {})}
                for spec in responses.values():  # Litestar's own examples are random text: none, or ours
                    spec.generate_examples = False
                handler.responses = responses
                path = getattr(route, "path", "")
                if "POST" in handler.http_methods and _IDEMPOTENT.match(path):
                    handler.operation_class = _variant(handler.operation_class, idempotent=True)
                if "POST" in handler.http_methods and _WITHDRAWAL_REQUEST.match(path):
                    handler.operation_class = _variant(handler.operation_class, withdrawal_key=True)
                if path.startswith("/gateway/payin/confirm/"):
                    handler.operation_class = _variant(handler.operation_class, receipt_upload=True)
                if (example := request_example(handler)) is not None:
                    handler.operation_class = _variant(handler.operation_class, request_example=example)
                if handler.include_in_schema and handler.operation_id:
                    _list_errors(handler, path, secured=bool(requirement))


def _list_errors(handler: HTTPRouteHandler, path: str, *, secured: bool) -> None:
    """The description ends with the codes the operation answers (http/error_codes.py); once, however
    many apps are made of the same handlers."""
    line = errors_line(str(handler.operation_id), path, secured=secured)
    description = handler.description or ""
    if line and not description.endswith(line):
        handler.description = f"{description} {line}".strip()


TAGS = [
    Tag(name="gateway", description="The merchant API: pay-ins and pay-outs with a store's X-API-Key."),
    Tag(name="auth", description="Logins, token refresh, logout and passwords for every role."),
    Tag(name="merchant", description="The merchant cabinet: stores, API keys, callbacks, orders, balances, USDT."),
    Tag(name="trader", description="The trader cabinet: requisites, orders, balance, USDT."),
    Tag(name="teamlead", description="A team lead's view of their traders, and their reward."),
    Tag(name="support", description="Support agents: orders, disputes, customers' receipts."),
    Tag(name="admin", description="Administration: users, rates, commissions, settings, withdrawals, the wallet."),
    Tag(name="system", description="Health and readiness probes."),
    Tag(name="callbacks", description="What JivaPay POSTs to a store's callback URL, signed (docs/callbacks.md)."),
]


def _simplified(node: Any) -> Any:
    """A schema with every one-branch ``oneOf``/``anyOf`` replaced by that branch (msgspec's
    ``X | UnsetType`` comes out as ``oneOf: [X]``, which lints and generators flag)."""
    if isinstance(node, list):
        return [_simplified(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _simplified(value) for key, value in node.items()}
    for keyword in ("oneOf", "anyOf"):
        branches = node.get(keyword)
        if isinstance(branches, list) and len(branches) == 1 and isinstance(branches[0], dict):
            rest = {key: value for key, value in node.items() if key != keyword}
            node = {**branches[0], **rest}
    return node


@dataclasses.dataclass
class TidyComponents(Components):
    """The document's components, tidied as they are written out (see ``_simplified``)."""

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = _simplified(super().to_schema())
        schema.setdefault("headers", {}).update(RESPONSE_HEADERS)
        schemas = schema.setdefault("schemas", {})
        for name, extra in EXTRA_SCHEMAS.items():
            schemas.setdefault(name, _simplified(extra))
        return schema


# schemas the routes do not name but the document does (the webhooks' event bodies)
EXTRA_SCHEMAS: dict[str, Any] = {}


# --- the merchant's own document: the gateway, the merchant cabinet and the callbacks ------------

MERCHANT_PATHS = re.compile(r"^/(gateway/|merchant/|auth/refresh$)")
MERCHANT_SCHEMES = ("storeApiKey", "orderToken", "merchantLogin")
MERCHANT_TAGS = ("gateway", "merchant", "auth", "callbacks")


def merchant_document(full: dict[str, Any]) -> dict[str, Any]:
    """The part of the document a merchant's developer needs, self-contained: the operations under
    /gateway and /merchant (and the token refresh), the webhooks, and the schemas they reach."""
    document = {key: value for key, value in full.items() if key not in ("paths", "components", "tags")}
    document["info"] = {**full["info"], "title": "JivaPay merchant API"}
    document["paths"] = {path: item for path, item in full["paths"].items() if MERCHANT_PATHS.match(path)}
    document["tags"] = [tag for tag in full.get("tags", []) if tag["name"] in MERCHANT_TAGS]
    components = full.get("components", {})
    schemas = components.get("schemas", {})
    needed: set[str] = set()
    queue = [document["paths"], document.get("webhooks", {}), components.get("headers", {})]
    while queue:
        for name in _references(queue.pop()):
            if name not in needed and name in schemas:
                needed.add(name)
                queue.append(schemas[name])
    document["components"] = {
        **{key: value for key, value in components.items() if key not in ("schemas", "securitySchemes")},
        "schemas": {name: schemas[name] for name in sorted(needed)},
        "securitySchemes": {
            name: scheme for name, scheme in components.get("securitySchemes", {}).items() if name in MERCHANT_SCHEMES
        },
    }
    return document


def _references(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)
