"""A simulated internet on loopback: the other side of the wire for the demo, tests and benchmarks.

One world description (YAML, or generated from a seed) drives DNS, WHOIS, RDAP, HTTP content
hosts and SMTP mailboxes on 127.0.0.0/8, plus the behaviours that make providers remove, ignore,
re-upload or move content and registrars suspend domains after a notice.

    python -m sandbox up                      # the example world; settings in .env.sandbox
    python -m sandbox up --generate 7,50,100000

    from sandbox.testing import running_sandbox
    with running_sandbox() as sandbox:
        sandbox.env["TAKEDOWN_DNS_NAMESERVERS"]

This package imports nothing from the engine's packages, so it can disagree with them.
"""
