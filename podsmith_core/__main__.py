from podsmith_core.cli import main

main()
