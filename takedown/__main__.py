from takedown.cli import main

main()
