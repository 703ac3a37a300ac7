import sys

from kerasketch.cli import main

sys.exit(main())
