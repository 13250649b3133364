"""The vendor runtimes of PROTOCOL §1.2: `vendor.h2o` (runner/vendor/h2o.py) and
`vendor.aws_polly` (runner/vendor/polly.py)."""
