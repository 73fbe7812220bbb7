"""moto's server, single-threaded: moto's in-memory backends are not thread-safe (concurrent
TransactWriteItems fail with "dictionary changed size during iteration"), real AWS has no such
limit, so requests are served one at a time. Usage: moto_server.py HOST PORT"""
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False, use_reloader=False)
