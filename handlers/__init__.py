"""Adapters to services outside the platform: risk, e-signature, payments, notification, identity.

Each adapter is a provider-neutral interface, a real client speaking the provider's protocol
(HTTP, signed callbacks) and a simulator that is part of the product and says so on screen
(its pages and JSON APIs under `/simulators/`). Adapters know no Flask, no tables and no domain:
the domain that owns a service task (`app.services.<domain>.operators`) calls an adapter.
The service-task registry itself is the workflow runtime's (`app.services.workflow.operators`).
"""
