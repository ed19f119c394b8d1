from cloche.cli.entry import main

main()
