"""Where providers call the platform back (`context.served_url`): LOANFLOW_BASE_URL when set, else
the address the request came in on (a server on any port), else LOANFLOW_PUBLIC_URL."""
import pytest

from app.services import context
from app.services.signing.disbursements import notify_url


@pytest.fixture
def urls(app):
    before = app.config["BASE_URL"], app.config["PUBLIC_URL"]
    app.config["BASE_URL"], app.config["PUBLIC_URL"] = "", "https://loans.example.cn/"
    yield app
    app.config["BASE_URL"], app.config["PUBLIC_URL"] = before


def test_a_request_is_answered_at_the_address_it_came_in_on(urls):
    with urls.test_request_context("/tasks/1", base_url="http://127.0.0.1:5077"):
        assert context.served_url() == "http://127.0.0.1:5077"
        assert notify_url() == "http://127.0.0.1:5077/api/v1/callbacks/payments"


def test_without_a_request_the_public_address(urls):
    with urls.app_context():
        assert context.served_url() == "https://loans.example.cn"


def test_the_configured_base_url_wins(urls):
    urls.config["BASE_URL"] = "http://platform.internal:8000/"
    with urls.test_request_context("/tasks/1", base_url="http://127.0.0.1:5077"):
        assert context.served_url() == "http://platform.internal:8000"
    with urls.app_context():
        assert context.served_url() == "http://platform.internal:8000"
