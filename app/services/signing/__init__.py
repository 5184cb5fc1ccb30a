"""Signing and disbursement (docs/signing.md): from an approved deal to a booked loan; so far the
providers' callbacks (`callbacks`: e-signature completions and payment notifications, checked and
turned into durable workflow messages)."""
