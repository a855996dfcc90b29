from hosting_cli.main import main

main()
