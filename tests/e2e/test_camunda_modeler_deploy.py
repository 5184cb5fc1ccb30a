"""Camunda Modeler deploys to Loanflow from its own window, in a real browser (issue 17): an analyst makes a token on
their API tokens page (reached from their name in the header), then — from a page of another origin, as Camunda
Modeler's window is — the Modeler's own requests run: the connection check, the deployment of a diagram with its
start form attached, the start of an instance with typed variables. Chromium's preflights pass, and the instance is
on the console."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.integration.test_start_page import START_FORM, invoice

MODELER = """async ({base, token, diagram, form}) => {
  const headers = {accept: 'application/json', authorization: `Bearer ${token}`};
  const check = await fetch(base + '/deployment?maxResults=0', {headers});
  const data = new FormData();
  data.append('deployment-name', 'invoice');
  data.append('deployment-source', 'Camunda Modeler');
  data.append('enable-duplicate-filtering', 'true');
  data.append('invoiceApproval.bpmn', new Blob([diagram], {type: 'text/xml'}), 'invoiceApproval.bpmn');
  data.append('modeler-start.form', new Blob([form]), 'modeler-start.form');
  const deployed = await fetch(base + '/deployment/create', {method: 'POST', body: data, headers});
  const deployment = await deployed.json();
  const definition = Object.values(deployment.deployedProcessDefinitions || {})[0];
  const started = await fetch(base + `/process-definition/${definition.id}/start`, {
    method: 'POST', headers: {...headers, 'content-type': 'application/json'},
    body: JSON.stringify({businessKey: 'INV-MODELER', variables: {
      creditor: {value: 'Great Pizza', type: 'String'}, amount: {value: '30', type: 'String'}}})});
  return {origin: self.origin, check: check.status, deployed: deployed.status, definition: definition.id,
          started: started.status, instance: await started.json()};
}"""


def test_an_analyst_deploys_and_runs_from_camunda_modeler_with_a_token_from_their_page(world, new_page, browser):
    analyst = world.user("modeler", "PLATFORM", ["analyst"])
    page = new_page(locale="zh-CN")
    sign_in(page, analyst)
    page.locator("#account-link").click()
    page.wait_for_url("**/account/tokens")
    page.locator("#f-label").fill("Camunda Modeler")
    page.get_by_role("button", name="生成令牌").click()
    token = page.locator("#issued-token code.token").inner_text()
    endpoint = page.locator("#engine-rest").inner_text()
    assert endpoint == world.server.url + "/engine-rest"
    screenshot(page, "account-tokens-zh")

    modeler = browser.new_context().new_page()  # no cookie of the platform's; another origin (about:blank)
    diagram = invoice("camunda-forms:app:modeler-start.form").content.decode()
    said = modeler.evaluate(MODELER, {"base": endpoint, "token": token, "diagram": diagram,
                                      "form": json.dumps(START_FORM)})
    assert said["origin"] != world.server.url
    assert (said["check"], said["deployed"], said["definition"], said["started"]) == (
        200, 200, "invoiceApproval:1", 200), said
    instance_link = said["instance"]["links"][0]["href"]
    modeler.context.close()

    page.goto(instance_link)
    expect(page.locator("body")).to_contain_text("INV-MODELER")
    expect(page.locator("body")).to_contain_text("Great Pizza")
