"""Evidence for auditors: the ports register, OSCAL results, and signed, verifiable bundles.

Each module owns one piece: `register` (PCI DSS 1.2.5 list of allowances), `oscal`
(assessment results), `scope` (what was and was not checked), `sshsig` and `signers`
(OpenSSH signatures and allowed_signers), `bundle` (the zip) and `verify` (its check).
"""
