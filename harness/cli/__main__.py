"""``python -m harness.cli`` runs the ``nasbench`` command."""
import sys

from .main import main

sys.exit(main())
