"""The web gallery: `deepgallery serve` shows every application of the registry in the browser.

    limits.py   what a job may ask for (upload size, image / video dimensions, text length, queue size)
    jobs.py     one job: check and coerce the inputs, call the app's ``predict``, shape its outputs
    widgets.py  Gradio components that fit each declared ``Param`` / ``Output`` kind
    server.py   the Gradio app generated from ``registry.all_apps()`` and ``serve(host, port, max_jobs)``
    bench.py    the load check behind `deepgallery bench gallery`

Nothing here imports Gradio at package import time, so the CLI stays fast without the ``web`` extra.
"""
