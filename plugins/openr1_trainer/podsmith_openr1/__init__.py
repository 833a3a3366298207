"""podsmith trainers that run Open R1's GRPO and SFT scripts (`openr1-grpo`, `openr1-sft`)."""
