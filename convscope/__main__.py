from convscope.cli import main

main()
