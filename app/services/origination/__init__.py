"""Origination: from a lead to an approved deal (its service-task operators so far)."""
