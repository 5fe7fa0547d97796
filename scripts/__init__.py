"""The command-line layer (`latent ...`): thin calls into catalog/ and baselines/."""
