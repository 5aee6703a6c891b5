from qwenlint.cli import main

main()
