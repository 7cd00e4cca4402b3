"""``python -m harness.cli`` runs the ``nasbench`` command."""
import sys

from . import main

sys.exit(main())
