"""The application shell: settings, command line, logging."""
