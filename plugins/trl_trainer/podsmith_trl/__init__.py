"""podsmith trainers that run TRL's own `trl sft` and `trl grpo` scripts on the Pod."""
