"""World files shipped with the sandbox (a package so that packaging includes them)."""
