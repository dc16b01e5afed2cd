"""The demo and the made-up referrals: `mailbot demo`, and the official form written out.

Outside the pipeline, like `cli/` and `web/`. `formwriter` (with `docxparts`) renders the
official form, blank (`mailbot form blank`) or filled in each way partners fill it;
`samples`, `sample_data` and `sample_mail` make realistic referrals and emails; `run` is
`mailbot demo`, which runs the real daemon on them. The tests and the benchmark use the same
generators, so what the demo shows is what is tested.
"""
