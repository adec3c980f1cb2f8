"""The payments auditor: a Lambda subscriber of large payment events, filtered on the body."""
