from convscope.cli.app import main

main()
