"""The demo: made-up referrals (`samples`, `sample_data`, `sample_mail`) and `mailbot demo`.

Outside the pipeline, like `cli/` and `web/`: it builds emails the way partners send them and
runs the real daemon on them. The tests and the benchmark use the same generators, so what
the demo shows is what is tested.
"""
