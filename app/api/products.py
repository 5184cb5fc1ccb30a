"""Products borrowers apply for: anyone signed in reads the active ones; the platform's admins and
operators add and change them (the service's policy: `products.administer`)."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.products import NewProductSchema, ProductChangeSchema, ProductSchema
from app.services.origination import products, views

blp = Blueprint("products", __name__, url_prefix="/products",
                description="Loan products: pricing, limits, kind and origination terms")
blp.before_request(require_user)


@blp.route("")
@blp.response(200, ProductSchema(many=True))
def list_products():
    """The products on offer, by code."""
    return products.list_products(current_user())


@blp.route("/<code>")
@blp.response(200, ProductSchema)
@blp.errors(404)
def get_product(code):
    """One product (one withdrawn from offer only for the platform)."""
    return products.get_product(current_user(), code)


@blp.route("", methods=["POST"])
@blp.arguments(NewProductSchema())
@blp.response(201, ProductSchema)
@blp.errors(403, 409)
def create_product(args):
    """A new product: the ledger's terms, its kind and origination terms (409 if the code exists)."""
    return views.add_product(current_user(), args)


@blp.route("/<code>", methods=["PATCH"])
@blp.arguments(ProductChangeSchema())
@blp.response(200, ProductSchema)
@blp.errors(403, 404)
def update_product(args, code):
    """Change a product's name, whether it is offered, or its origination terms (pricing is fixed)."""
    return views.change_product(current_user(), code, args)
