"""Users over the API, for administrators: list them, deactivate and reactivate them, see and revoke
their API tokens. Who may act on whom is `app.services.identity.grants`; everyone else gets 403 before any
id is read."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.common import PageArgs
from app.schemas.users import TokenPage, TokenSchema, UserActivationSchema, UserListArgs, UserPage, UserSchema
from app.services.identity import user_admin
from app.services.workflow import handover

blp = Blueprint("users", __name__, url_prefix="/users", description="Users and their API tokens (administrators)")
blp.before_request(require_user)


@blp.route("")
@blp.arguments(UserListArgs(), location="query")
@blp.response(200, UserPage)
@blp.errors(403)
def list_users(args):
    """Every user (platform admins and operators)."""
    return user_admin.list_users(current_user(), **args)


@blp.route("/<int:user_id>")
@blp.response(200, UserSchema)
@blp.errors(403, 404)
def get_user(user_id):
    return user_admin.get_user(user_id, current_user())


@blp.route("/<int:user_id>/deactivate", methods=["POST"])
@blp.response(200, UserActivationSchema)
@blp.errors(403, 404)
def deactivate(user_id):
    """Deactivate a user you outrank: their sessions end and their API tokens answer 401 at once; the tasks
    they hold go back to their groups (`tasks_released`)."""
    return handover.set_active_by_id(user_id, False, current_user())


@blp.route("/<int:user_id>/activate", methods=["POST"])
@blp.response(200, UserActivationSchema)
@blp.errors(403, 404)
def activate(user_id):
    """Reactivate a user you outrank; their tokens that have not expired or been revoked work again."""
    return handover.set_active_by_id(user_id, True, current_user())


@blp.route("/<int:user_id>/tokens")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, TokenPage)
@blp.errors(403, 404)
def list_tokens(args, user_id):
    """A user's API tokens, newest first (never the tokens themselves)."""
    return user_admin.user_tokens(user_id, current_user(), args["page"], args["per_page"])


@blp.route("/<int:user_id>/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(200, TokenSchema)
@blp.errors(403, 404)
def revoke_token(user_id, token_id):
    """Revoke one of a user's tokens: it answers 401 from the next request on."""
    return user_admin.revoke_user_token(user_id, token_id, current_user())
