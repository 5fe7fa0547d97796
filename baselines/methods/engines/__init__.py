"""Engines shared by several methods, in modules of their own (never registered as methods):

- token.py   ordinary tokens only: the next-token loss and batched greedy decoding
             (no_cot, cot, pause, icot build on `TokenLevelMethod`);
- latent.py  continuous thoughts: the KV-cached multi-pass forward and generation that feed the
             last hidden state back as the next input (coconut, codi; icot's decoding).
"""
