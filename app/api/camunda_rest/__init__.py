"""The part of Camunda 7's REST API that Camunda's tools and the applications of a Camunda user speak
(`/engine-rest`): an analyst who draws in Camunda Modeler deploys to Loanflow and starts a test instance from its own
Deploy and Run buttons, as to a Camunda engine; the external task workers a Camunda user runs do Loanflow's service
tasks; and the applications that correlated messages, sent signals, read instances and worked user tasks over
Camunda's API do so here by changing the address they call.

| Camunda's API | Loanflow answers | module |
|---|---|---|
| `GET /version`, `GET /deployment?maxResults=0` (Modeler's connection check), `POST /deployment/create`, `POST /process-definition/{id}/start`, `/process-definition/key/{key}/start` | the files checked and deployed together as `file_sets` does; `instances.start` on the newest version | `deployments` |
| `POST /external-task/fetchAndLock`, `/external-task/{id}/complete`, `bpmnError`, `failure`, `extendLock`, `unlock`, `GET .../errorDetails`; `GET /external-task`, `/count`, `/{id}`; `PUT .../retries` | the tasks of topics mapped to `camunda.external_task` (`workflow.external_tasks`) | `external_tasks` |
| `POST /message`, `POST /signal` | `messages.deliver_message` (by business key, instance id, correlation keys), `signals.send_signal` | `events` |
| `GET /process-definition`, `/process-definition/count`, `/key/{key}`, `/{id}`, `.../xml` | the newest version of each process (an older one by its id) and its diagram, for whoever reads the catalogue (`definitions.read`) | `process_definitions` |
| `GET /process-instance`, `GET /process-instance/{id}`, `.../variables`, `.../variables/{name}`, `DELETE /process-instance/{id}` | the instances the caller may see (`queries`), cancelled as the console cancels | `process_instances` |
| `GET /history/process-instance`, `/count`, `/{id}`, `GET /history/variable-instance?processInstanceId=` | every instance the caller may see, ended or not (`COMPLETED`, `EXTERNALLY_TERMINATED`, `ACTIVE`), and the variables it holds or ended with | `history` |
| `GET /incident`, `/incident/count`, `/incident/{id}` | the open incidents, for the staff who read them (`incidents.read`) | `incidents` |
| `GET /task`, `/task/count`, `/task/{id}`, `.../variables`, `.../form-variables`, `POST .../claim`, `unclaim`, `complete` | the caller's inbox (`queries.list_tasks`), worked as on the task page (`tasks`) | `user_tasks` |

Only an API token opens these routes: as a bearer token (Modeler's "Bearer token" authentication), or as the password
of HTTP Basic authentication with the token's owner as the user name (what Camunda's clients send when an engine asks
for Basic authentication) — never a session cookie, never an account's password, so any origin may call them (Modeler
calls from its own window) with no risk of a forged request. No answer asks a browser for Basic credentials
(no `WWW-Authenticate`), and a request authenticated by Basic sends JSON, which no form of another site can send. Errors answer in Camunda's shape, `{"type", "message"}`,
in the reader's language; a refused deploy lists each finding by file (`details`, as Camunda's ParseException).
Typed variables (`values`): String, Boolean, Integer, Short, Long, Double, Date (kept as the text sent), Json (read),
Null; File answers a task form's file field (a document of the instance); Object, Bytes and Xml values are
refused.
"""
from __future__ import annotations

from app.api.camunda_rest import (  # the routes, each module adding its own to the blueprint
    deployments,
    events,
    external_tasks,
    history,
    incidents,
    process_definitions,
    process_instances,
    user_tasks,
)
from app.api.camunda_rest.base import bp

__all__ = ["bp", "deployments", "events", "external_tasks", "history", "incidents", "process_definitions",
           "process_instances", "user_tasks"]
