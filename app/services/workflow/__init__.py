"""The workflow runtime: deployment, instances, steps, tasks, messages, incidents, timers, inbox, forms, documents."""
