"""Secret values the notifier tests plant in events, to check that none of them leaves the process."""

HF_TOKEN = "hf_secretTOKENvalue1234567890"
RUNPOD_API_KEY = "rpa_SECRETKEY0987654321abcdef"
WEBHOOK_TOKEN = "whTOKEN-5f3c9a1e7b2d4c6f8a0e"
DISCORD_TOKEN = "dcTOKEN_q1w2e3r4t5y6u7i8o9p0"
