"""Schemas of users and their API tokens."""
from marshmallow import Schema, fields, validate

from app.models.identity import MAX_TOKEN_DAYS, TOKEN_DAYS, TOKEN_LABEL_LENGTH
from app.schemas.common import PageArgs, page_schema


class TokenSchema(Schema):
    id = fields.Integer()
    label = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(metadata={"description": "it answers 401 from then on"})
    last_used_at = fields.DateTime(allow_none=True, metadata={"description": "to within five minutes"})
    revoked_at = fields.DateTime(allow_none=True)
    state = fields.String(validate=validate.OneOf(("active", "expired", "revoked")))


class IssuedTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the bearer token itself: shown this once, never again"})


class NewTokenSchema(Schema):
    label = fields.String(load_default=None, validate=validate.Length(min=1, max=TOKEN_LABEL_LENGTH))
    days = fields.Integer(load_default=TOKEN_DAYS, validate=validate.Range(min=1, max=MAX_TOKEN_DAYS), metadata={
        "description": "how long it lives; a token made with a token expires no later than that one"})


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String(allow_none=True)
    org = fields.String(metadata={"description": "the organisation's code"})
    roles = fields.List(fields.String())
    active = fields.Boolean()
    deactivated_at = fields.DateTime(allow_none=True)
    has_password = fields.Boolean(metadata={"description": "false until the invitation is used"})
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserActivationSchema(UserSchema):
    tasks_released = fields.Integer(metadata={"description": "open tasks the user held, handed back to their "
                                                             "groups by this deactivation (0 when reactivating)"})


class UserListArgs(PageArgs):
    username = fields.String(validate=validate.Length(max=80))
    org = fields.String(validate=validate.Length(max=64), metadata={"description": "an organisation's code"})


TokenPage = page_schema(TokenSchema, "TokenPage")
UserPage = page_schema(UserSchema, "UserPage")
