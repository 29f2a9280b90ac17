"""The classroom app: twin firms live in the browser (`python -m sim app`), and slides.

`state` (the twin-firm session, plain Python), `views` (matplotlib figures), `page` and `app`
(the Solara page), `server` (serving it), `commands` (the `app` and `figure` commands). The
app imports the model; the model never imports the app.
"""
