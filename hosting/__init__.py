"""Asking the internet who hosts a URL (:mod:`hosting.trace`) and whether it is still up
(:mod:`hosting.probe`), over DNS, RDAP and WHOIS clients that share one vocabulary
(:mod:`hosting.common`). Nothing here touches the database."""
