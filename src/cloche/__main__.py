from cloche.cli.main import main

main()
