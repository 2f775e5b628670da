"""Where a bureau's notices go: its webhook, a 企业微信 group robot, a 钉钉 custom robot, e-mail.

- `models`: the channel kinds, what an administrator sets for each, validation.
- `secrets`: robot keys, the DingTalk signing secret and SMTP passwords, encrypted at rest
  (AES-GCM) or referenced from the environment (`env:NAME`).
- `store`: the `bureau_channels` table (admin API and CLI) and the per-channel delivery status
  (`notice_deliveries`, the worker).
- `cards`: one notice as each channel shows it well (markdown card, mail).
- `senders`: the wire format of each channel and what its answers mean (delivered, retry,
  refused).

Delivery itself (one activity per notice, every channel of the bureau) is
`activities/notify.py`; docs/operations.md "Channels" is the operator's view.
"""
