"""gunicorn's settings for eco12369, read from the working directory (docs/deploy.md §4). The command line
adds the address and the number of workers."""

# The access log leaves out the query strings of /wechat/ and /portal/ (openids, signatures, OAuth codes).
logger_class = "eco12369.accesslog.RedactingLogger"
