"""Wire-level emulators of remote services (Hugging Face Hub, Runpod, webhooks) for the tests."""
