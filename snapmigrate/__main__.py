from snapmigrate.cli import main

main()
